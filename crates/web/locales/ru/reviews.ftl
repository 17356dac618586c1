# Ежедневный обзор открытых тикетов (рабочее место руководителя).
reviews-title = Ежедневные обзоры
reviews-empty = Обзоров пока нет: первый появится в рабочий день в 09:30.
reviews-col-day = День
reviews-col-done = Пройден
review-title = Ежедневный обзор на { $value }
review-waiting = Ежедневный обзор на { $value } ждёт: пройдите по открытым тикетам
review-summary = Открытых тикетов: { $ours } ждут нас, { $theirs } ждут клиента.
review-hint = Пройдите по каждому: подтолкните исполнителя, напомните клиенту или закройте.
review-side-ours = Мяч на нашей стороне
review-side-theirs = Мяч на стороне клиента
review-more = { $count ->
    [one] … и ещё { $count } тикет, выше показаны самые давние
    [few] … и ещё { $count } тикета, выше показаны самые давние
   *[many] … и ещё { $count } тикетов, выше показаны самые давние
}
review-not-done = ещё нет
review-done-at = Обзор пройден: { $value }
review-mark-done = Обзор пройден
review-all = Все обзоры
