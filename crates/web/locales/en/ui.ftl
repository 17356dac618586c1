# Workplaces a firm can run on (issue 19): what the last action did, the desk's codes in
# words, the profile. English.

flash-task-taken = You took the task.
flash-task-completed = Task completed.
flash-task-transferred = Task transferred to another line.
flash-reply-sent = Reply sent.
flash-note-added = Internal comment added.
flash-file-uploaded = File attached.
flash-ticket-created = Ticket registered.
flash-ticket-sent = Ticket sent.
flash-draft-saved = Draft saved.
flash-announced = Announcement published.
flash-rated = Thank you for your rating!
flash-planned = Work planned.
flash-timer-started = Timer started.
flash-timer-stopped = Timer stopped.
flash-profile-saved = Settings saved.

history-task-completed = Task completed: { $value }
history-classification = Classified as: { $value }
history-other = Ticket changed
history-kind-stage = The ticket moved to its next stage
history-kind-task_taken = Task taken
history-kind-task_cancelled = Task cancelled
history-kind-task_reassigned = Task handed to another specialist
history-kind-task_due = Task deadline changed
history-kind-assigned = Assignee set
history-kind-coassignee_added = Co-assignee added
history-kind-article_linked = Knowledge base article linked
history-kind-alert = The manager was alerted
history-kind-over_limit = Contract limit exceeded
history-kind-clock_paused = Deadline clock paused
history-kind-clock_resumed = Deadline clock resumed
history-kind-next_step = Next step date changed
history-kind-registered = Ticket registered
history-kind-to_register = The sender awaits registration
history-kind-equipment = Equipment named
history-kind-mail_bounce = A mail was not delivered
history-kind-mail_quiet = Mail taken without a notice
history-kind-urgent = The urgent mark changed
history-kind-vendor_transfer = Handed over to the vendor
history-kind-vendor_reply = The vendor replied
history-kind-follow_up = Follow-up ticket created
history-kind-follow_up_of = Follow-up of a closed ticket
history-kind-docs = Documents prepared
history-kind-auto_closed = Closed automatically

outcome-question = Question
outcome-bug = Bug
outcome-critical = Critical bug
outcome-improvement = Improvement
outcome-done = Done
outcome-close = Close the ticket
outcome-closed = Solved, close
outcome-ask_client = Ask the client
outcome-reclassify = Reclassify
outcome-approved = Approved
outcome-declined = Declined
outcome-error = Error in the request
outcome-issued = Issued
outcome-ok = All good
outcome-paid = Paid
outcome-passed = Check passed
outcome-refused = Refused
outcome-rework = Back for rework
outcome-unknown = Could not tell
outcome-warranty = Warranty case
outcome-in_warranty = Under warranty
outcome-out_of_warranty = Out of warranty

classification-question = question
classification-bug = bug
classification-critical = critical bug
classification-improvement = improvement

task-kind-analyze = Analysis
task-kind-answer = Answer the client
task-kind-approve = Approval
task-kind-auto = Automatic step
task-kind-classify = Classify the request
task-kind-control = Control
task-kind-develop = Development
task-kind-diagnose = Diagnosis
task-kind-hand_over = Hand-over
task-kind-invoice = Invoice
task-kind-issue_manually = Issue manually
task-kind-notify = Notify the client
task-kind-prepare = Preparation
task-kind-repair = Repair
task-kind-waiting_client = Waiting for the client
task-kind-reply = Answer the client's message
task-kind-reopened = Reopened request

profile-title = My profile
profile-zone = Time zone
profile-zone-default = Times now show in { $value } (the default: the client's calendar zone or the browser's). Leave the field empty to return to the default.
profile-zone-chosen = Times show in your chosen zone { $value }. Leave the field empty to return to the default.
profile-now = Now:
profile-save = Save

nav-search = Search
search-title = Search tickets
search-label = Words from the subject, description or conversation
search-submit = Search
search-nothing = Nothing found.
search-found = { $count ->
    [one] Found { $count } ticket
   *[other] Found { $count } tickets
}
alert-limit_used_up = Contract hours used up
