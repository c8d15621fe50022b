"""Files in and out, as offices keep them.

spreadsheets.py  CSV and XLSX bytes -> a table of text cells, bounded
csv_writer.py    CSV as the registry writes it (formula-safe cells)
"""
