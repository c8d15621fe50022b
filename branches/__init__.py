"""The places of the Party organisation: communes, villages and branches, and who
may see which (branches.access: every view asks the user's Scope; outside it a
record is a 404). Knows nothing of people or meetings.
"""
