"""The top floor: the pages that draw on every app.

The dashboard and its charts (views/dashboard.py, selectors/dashboard.py,
charts.py) and the pages of a commune, a village and a branch (views/places.py),
which show rosters, meetings and dissolutions together. Nothing imports overview.
"""
