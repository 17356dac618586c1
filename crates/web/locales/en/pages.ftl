# Pages of the Okno service desk, English.

nav-logout = Log out
nav-tickets = All tickets

role-client = client
role-specialist = specialist
role-manager = manager
role-admin = administrator

status-draft = Draft
status-new = New
status-in_progress = In progress
status-waiting_client = Awaiting reply
status-resolved = Resolved
status-closed = Closed

error-not-found-title = Not found
error-not-found = There is no such page or ticket, or you have no access to it.
error-forbidden-title = Forbidden
error-forbidden = You are not allowed to do this.
error-csrf = The form has expired or was not sent from this site. Reload the page and try again.
error-conflict-title = That did not work
error-conflict = This cannot be done now: the ticket has changed. Reload the page.
error-invalid-title = Invalid input
error-invalid = Check what you entered and try again.
error-too-large = The file is too large.
error-internal-title = Server error
error-internal = Something went wrong. The error has been logged; please try again a bit later.
error-back-home = Back to the start

login-title = Sign in to Okno
login-intro = The support desk: one window for all your questions.
login-email = Email
login-password = Password
login-submit = Sign in
login-failed = Wrong email or password.

home-client-title = My tickets
home-staff-title = Tickets
home-new-ticket = New ticket
home-new-ticket-hint = What can we help you with?
home-empty = No tickets.
filter-label = Filter by status
filter-all = All
tickets-count = { $count ->
    [one] { $count } ticket
   *[other] { $count } tickets
}
tickets-shown = { $count ->
    [one] Showing { $count } ticket
   *[other] Showing { $count } tickets
}
col-number = Number
col-subject = Subject
col-client = Client
col-status = Status
col-next-step = Next step
col-updated = Updated
page-first = ← First page
page-next = Next page →

new-title = New ticket
new-client = Client code
new-requester = Contact (email)
new-requester-hint = The client's contact the ticket is for, e.g. the caller on the phone: they see it, get its mail and reply. Left empty: the ticket is yours.
new-subject = Subject
new-description = Description
new-draft = Save as a draft (I will send it later)
new-submit = Send
new-cancel = Cancel

ticket-service = Service
ticket-client = Client
ticket-requester = Requester
ticket-next-step = Next step
ticket-created = Created
ticket-draft-note = This is a draft: support will see it once you send it.
ticket-submit-draft = Send to support
ticket-conversation = Conversation
ticket-no-comments = No messages yet.
comments-count = { $count ->
    [one] { $count } message
   *[other] { $count } messages
}
comment-internal = Internal
comment-label = Your message
comment-internal-check = Internal comment (the client will not see it)
comment-submit = Send
ticket-files = Files
files-count = { $count ->
    [one] { $count } file
   *[other] { $count } files
}
upload-label = File
upload-submit = Attach file
upload-choose-file = Choose a non-empty file.
ticket-tasks = Tasks
ticket-no-tasks = No tasks.
task-due = due
task-line = line { $value }
task-state-open = open
task-state-done = done
task-state-cancelled = cancelled
ticket-history = History
actor-system = system

history-draft-created = Draft created
history-created = Ticket registered
history-status = Status: { $before } → { $after }
history-comment = New message
history-internal-comment = Internal comment
history-attachment = File attached: { $value }
history-task-created = Task created: { $value }
history-watcher-added = Watcher added
history-transferred = Transferred to line { $line }: { $reason }

field-required = Please fill in this field.
field-too-long = Too long: at most { $value } characters.
field-client = There is no such client.
field-requester = No such contact of this client: give the email of one of its contacts.
field-service = There is no such service.
field-invalid = Invalid value.

month-1 = Jan
month-2 = Feb
month-3 = Mar
month-4 = Apr
month-5 = May
month-6 = Jun
month-7 = Jul
month-8 = Aug
month-9 = Sep
month-10 = Oct
month-11 = Nov
month-12 = Dec

# Workplaces (issue 8)
nav-places = Workplaces
nav-desk = My desk
nav-manager = Figures
nav-skip = Skip to content

weekday-1 = Mon
weekday-2 = Tue
weekday-3 = Wed
weekday-4 = Thu
weekday-5 = Fri
weekday-6 = Sat
weekday-7 = Sun
ticket-promise = We will answer by { $value }.

priority-critical = critical
priority-high = high
priority-normal = normal
priority-low = low
why-overdue = Overdue; priority { $value }.
why-due = Priority { $priority }, due { $due }.
why-no-due = Priority { $value }, no deadline.

desk-title = My desk
desk-queue = Task queue
desk-queue-hint = Take the top one: the queue is already sorted by priority and deadline.
desk-queue-empty = No tasks.
desk-take-next = Take next
desk-mine = mine
desk-planning = Planning
desk-planning-empty = The task calendar will appear here.
desk-my-figures = My figures
desk-open-mine = Open tasks on me
desk-done-month = Done this month

task-client-description = The client's description
task-line1-summary = Line 1's summary
task-no-summary = Line 1 left no summary.
task-instructions = How to do it
task-actions = Actions
task-take = Take the task
task-outcome = Outcome
task-summary = Summary (carried into the next task)
task-complete = Complete the task
task-transfer-line = Transfer to line
task-transfer-reason = Reason for the transfer
task-transfer = Transfer
task-ticket-360 = The whole ticket
task-open-ticket = Open the ticket: client, conversation, files, history

feed-title = Feed
feed-empty = No news.

manager-title = Support figures
manager-alerts = Alerts
manager-no-alerts = No alerts.
manager-figures = Operational figures
fig-plan-today = Plan / done today
fig-plan-week = Plan / done this week
fig-overdue-development = Overdue development tasks
fig-bugs = Bugs in 14 days
fig-in-progress = Tickets in progress
fig-overdue-tickets = Overdue tickets
manager-new-tickets = New tickets per day
manager-client-time = Time per client per day
manager-no-time = No time logged on these days.
manager-workday = Specialists' workday
manager-no-work = No time logged today.
manager-board = Whose side is the ball
board-ours = Waiting on us
board-theirs = Waiting on the client
minutes = { $value } min
alert-breached = Deadline breached
alert-at_risk = Deadline at risk
alert-over_hours = Too many hours
alert-quota_used_up = Quota used up

announce-title = Announcement to clients
announce-subject = Title
announce-body = Text
announce-clients = To (client codes, comma separated; empty: everyone)
announce-by-mail = Also send by mail
announce-submit = Publish

rating-title = Rate the answer
rating-score = Score from 1 to 5
rating-comment = Comment (optional)
rating-submit = Rate
rating-given = Your rating: { $value } of 5.
