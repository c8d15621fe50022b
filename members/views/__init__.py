"""The pages of the members app, one module per subject: members, transfers,
dissolutions, growth (candidates, probation, ratings, badges), io (import, export)."""
