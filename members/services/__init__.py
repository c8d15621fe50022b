"""Writes that touch several rows, one module per subject: members, transfers,
dissolutions, growth. Import from the module, e.g.
`from members.services.transfers import transfer_request`."""
