"""Party members and everything that happens to them, one module per subject in
each of models/, services/, selectors/, views/ and forms/:

members       members and their memberships of branches (moves, leaving)
transfers     transfers between branches and their introduction letters
dissolutions  dissolving a branch: the plan, the batch of moves, the undo
growth        admission candidates, probation, annual ratings, Party badges
io            the registry's files in and out (read, validate, apply, export)

Writes that touch several rows are in services/ (one transaction each, the race
they prevent named); reads reused by pages and reports in selectors/.
"""
