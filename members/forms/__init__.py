"""The forms of the members app, one module per subject. They parse input only:
the rules live in members/services."""
