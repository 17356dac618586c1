# Knowledge base (issue 9)
kb-title = Knowledge base
kb-search = Search
kb-search-placeholder = E.g. month closing error
kb-nothing-found = Nothing found. Try other words or open a ticket.
kb-empty = No articles yet.
kb-draft = draft
kb-tags = Tags
kb-version = version { $value }
kb-deflections = Solved a question before a ticket: { $value }
kb-audience-public = For everyone
kb-audience-client = For clients
kb-audience-staff = For staff
kb-audience-both = For clients and staff
