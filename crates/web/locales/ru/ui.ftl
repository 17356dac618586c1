# Workplaces a firm can run on (issue 19): what the last action did, the desk's codes in
# words, the profile. Russian.

flash-task-taken = Задача взята в работу.
flash-task-completed = Задача выполнена.
flash-task-transferred = Задача передана на другую линию.
flash-reply-sent = Ответ отправлен.
flash-note-added = Внутренний комментарий добавлен.
flash-file-uploaded = Файл прикреплён.
flash-ticket-created = Обращение зарегистрировано.
flash-ticket-sent = Обращение отправлено.
flash-draft-saved = Черновик сохранён.
flash-announced = Объявление опубликовано.
flash-rated = Спасибо за оценку!
flash-planned = Работа запланирована.
flash-timer-started = Таймер запущен.
flash-timer-stopped = Таймер остановлен.
flash-profile-saved = Настройки сохранены.

history-task-completed = Задача выполнена: { $value }
history-classification = Классификация: { $value }
history-other = Изменение обращения
history-kind-stage = Обращение перешло на следующий этап
history-kind-task_taken = Задача взята в работу
history-kind-task_cancelled = Задача отменена
history-kind-task_reassigned = Задача передана другому специалисту
history-kind-task_due = Срок задачи изменён
history-kind-assigned = Назначен исполнитель
history-kind-coassignee_added = Добавлен соисполнитель
history-kind-article_linked = К обращению привязана статья базы знаний
history-kind-alert = Руководитель получил предупреждение
history-kind-over_limit = Превышен лимит договора
history-kind-clock_paused = Отсчёт срока приостановлен
history-kind-clock_resumed = Отсчёт срока возобновлён
history-kind-next_step = Изменён срок следующего шага
history-kind-registered = Обращение зарегистрировано
history-kind-to_register = Отправитель ожидает регистрации
history-kind-equipment = Указано оборудование
history-kind-mail_bounce = Письмо не доставлено
history-kind-mail_quiet = Письмо принято без уведомления
history-kind-urgent = Изменена отметка «срочно»
history-kind-vendor_transfer = Обращение передано производителю
history-kind-vendor_reply = Ответ производителя
history-kind-follow_up = Создано продолжение обращения
history-kind-follow_up_of = Продолжение закрытого обращения
history-kind-docs = Подготовлены документы
history-kind-auto_closed = Обращение закрыто автоматически

outcome-question = Вопрос
outcome-bug = Ошибка
outcome-critical = Критическая ошибка
outcome-improvement = Доработка
outcome-done = Готово
outcome-close = Закрыть обращение
outcome-closed = Вопрос решён, закрыть
outcome-ask_client = Уточнить у клиента
outcome-reclassify = Переклассифицировать
outcome-approved = Согласовано
outcome-declined = Отклонено
outcome-error = Ошибка в запросе
outcome-issued = Выдано
outcome-ok = Всё в порядке
outcome-paid = Оплачено
outcome-passed = Проверка пройдена
outcome-refused = Отказ
outcome-rework = На доработку
outcome-unknown = Не удалось определить
outcome-warranty = Гарантийный случай
outcome-in_warranty = На гарантии
outcome-out_of_warranty = Вне гарантии

classification-question = вопрос
classification-bug = ошибка
classification-critical = критическая ошибка
classification-improvement = доработка

task-kind-analyze = Анализ
task-kind-answer = Ответ клиенту
task-kind-approve = Согласование
task-kind-auto = Автоматический шаг
task-kind-classify = Классификация обращения
task-kind-control = Контроль
task-kind-develop = Разработка
task-kind-diagnose = Диагностика
task-kind-hand_over = Передача
task-kind-invoice = Счёт
task-kind-issue_manually = Выдача вручную
task-kind-notify = Уведомление клиента
task-kind-prepare = Подготовка
task-kind-repair = Ремонт
task-kind-waiting_client = Ожидание клиента
task-kind-reply = Ответ на сообщение клиента
task-kind-reopened = Повторное обращение

profile-title = Мой профиль
profile-zone = Часовой пояс
profile-zone-default = Сейчас время показывается в поясе { $value } (по умолчанию: пояс календаря клиента или браузера). Оставьте поле пустым, чтобы вернуться к умолчанию.
profile-zone-chosen = Время показывается в выбранном поясе { $value }. Оставьте поле пустым, чтобы вернуться к умолчанию.
profile-now = Сейчас:
profile-save = Сохранить

nav-search = Поиск
search-title = Поиск обращений
search-label = Слова из темы, описания или переписки
search-submit = Найти
search-nothing = Ничего не найдено.
search-found = { $count ->
    [one] Найдено { $count } обращение
    [few] Найдено { $count } обращения
   *[many] Найдено { $count } обращений
}
alert-limit_used_up = Лимит часов договора исчерпан
