# The daily review of open tickets (the manager's workplace).
reviews-title = Daily reviews
reviews-empty = No reviews yet: the first comes on a working day at 09:30.
reviews-col-day = Day
reviews-col-done = Gone through
review-title = Daily review for { $value }
review-waiting = The daily review for { $value } is waiting: go through the open tickets
review-summary = Open tickets: { $ours } waiting on us, { $theirs } waiting on the client.
review-hint = Go through each: nudge the assignee, remind the client or close it.
review-side-ours = The ball is on our side
review-side-theirs = The ball is on the client's side
review-more = { $count ->
    [one] … and { $count } more ticket; the oldest are shown above
   *[other] … and { $count } more tickets; the oldest are shown above
}
review-not-done = not yet
review-done-at = Gone through: { $value }
review-mark-done = Mark as gone through
review-all = All reviews
