# Client portal and specialist desk panels (issue 8): timer, ticket 360°, knowledge base,
# quota, new-ticket form, planning.

timer-title = Timer
timer-elapsed = Time elapsed
timer-stop = Stop
timer-idle = The timer is not running.
timer-start = Start the timer on this task
timer-switch = Switch the timer to this task

kb-panel-title = Knowledge base
kb-panel-search = Search the knowledge base
kb-panel-empty = No articles yet.
kb-panel-nothing = Nothing found.
kb-panel-all = The whole knowledge base →

quota-title = My contract
quota-none = No contract in force.
quota-not-in-force = not in force
quota-no-limits = No limits.
quota-limit-only = at most { $value }
quota-tickets-month = Tickets this month
quota-hours-month = Hours of work this month
quota-license-keys = License keys
quota-tickets-contact-day = Tickets per person per day

planning-desk-hint = The week's plan, the load per day and your own figures.
planning-open = Open planning →
planning-title = Planning
planning-week = Week { $value }
planning-week-nav = Move between weeks
planning-previous = ← Previous
planning-this-week = This week
planning-next = Next →
planning-hint = Plan a task on its page: date, time and duration.
planning-day-empty = Nothing planned.
plan-day-load = { $planned } planned of { $working } working
plan-fig-what = Figure
plan-fig-today = Today
plan-fig-week = Week
plan-fig-planned = Done of planned
plan-fig-closed = Tasks closed
plan-fig-overdue = Overdue
plan-fig-reopened = Back in work
plan-fig-hours = Hours logged

plan-title = Into my plan
plan-date = Date
plan-time = Start
plan-minutes = Duration, minutes
plan-submit = Plan it
plan-remove = Take out of the plan
plan-bad-date = Give the date and the start time.
plan-bad-minutes = Give the duration in minutes, from 1 to 1440.
plan-does-not-fit = It does not fit: the day has too little working time left.
plan-no-working-hours = The day has no working hours.
plan-take-first = Take the task first.

task-access-notes = Access to the client's systems
t360-client = Client
t360-contract = Contract and limits
t360-no-contract = No contract in force.
t360-time = Time spent
t360-articles = Knowledge base articles
t360-no-articles = No linked articles.
t360-history = Latest events
t360-history-all = { $count ->
    [one] The whole history: { $count } event
   *[other] The whole history: { $count } events
}

new-files = Files
new-files-drop = Drop files here or choose them.
new-save-draft = Save draft
draft-autosaved = Text saved on this device
draft-restored = Your unsent text is back.
upload-limit-hint = { $count ->
    [one] Up to { $size } a file, { $count } file at most.
   *[other] Up to { $size } a file, { $count } files at most.
}
upload-too-large = The file is larger than { $value }: it cannot be sent. Make it smaller or split it.
upload-too-many = { $count ->
    [one] Attach { $count } file at most.
   *[other] Attach { $count } files at most.
}
upload-again = The files were not kept: attach them again.

# A saved draft opened again (issue 8).
draft-edit = Edit the draft
draft-edit-title = Draft
draft-edit-hint = Support will see the request once you send it; until then you may change it.
history-draft-edited = Draft changed
