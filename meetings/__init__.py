"""Branch meetings: the monthly and thematic meetings, their roll and attendance,
minutes and addenda, the tasks set and reviewed, and the regularity reports.
Sits above members (the roll is the roster on the meeting's date).
"""
