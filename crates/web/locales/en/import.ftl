# The history of tickets imported from other systems (issue 23).
history-imported = Imported from { $value }
history-field = Field changed: { $value }
