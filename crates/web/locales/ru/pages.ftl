# Pages of the Okno service desk, Russian (the default language).

nav-logout = Выйти
nav-tickets = Все обращения

role-client = клиент
role-specialist = специалист
role-manager = руководитель
role-admin = администратор

status-draft = Черновик
status-new = Новый
status-in_progress = В работе
status-waiting_client = Ждём ответа
status-resolved = Решён
status-closed = Закрыт

error-not-found-title = Не найдено
error-not-found = Такой страницы или обращения нет, или у вас нет к нему доступа.
error-forbidden-title = Доступ запрещён
error-forbidden = У вас нет прав на это действие.
error-csrf = Форма устарела или отправлена не с этой страницы. Обновите страницу и попробуйте ещё раз.
error-conflict-title = Не получилось
error-conflict = Действие сейчас невозможно: обращение уже изменилось. Обновите страницу.
error-invalid-title = Неверные данные
error-invalid = Проверьте введённые данные и попробуйте ещё раз.
error-too-large = Файл слишком большой.
error-internal-title = Ошибка на сервере
error-internal = Что-то пошло не так. Мы уже записали ошибку; попробуйте чуть позже.
error-back-home = На главную

login-title = Вход в Okno
login-intro = Служба поддержки: одно окно для всех ваших вопросов.
login-email = Электронная почта
login-password = Пароль
login-submit = Войти
login-failed = Неверная почта или пароль.

home-client-title = Мои обращения
home-staff-title = Обращения
home-new-ticket = Новое обращение
home-new-ticket-hint = Выберите, с чем вам помочь:
home-empty = Обращений нет.
filter-label = Фильтр по статусу
filter-all = Все
tickets-count = { $count ->
    [one] { $count } тикет
    [few] { $count } тикета
   *[many] { $count } тикетов
}
tickets-shown = { $count ->
    [one] Показан { $count } тикет
    [few] Показано { $count } тикета
   *[many] Показано { $count } тикетов
}
col-number = Номер
col-subject = Тема
col-client = Клиент
col-status = Статус
col-next-step = Следующий шаг
col-updated = Обновлён
page-first = ← В начало
page-next = Следующая страница →

new-title = Новое обращение
new-client = Код клиента
new-requester = Контактное лицо (email)
new-requester-hint = Контакт клиента, от чьего имени обращение, например позвонивший: он увидит обращение, получит письма и сможет ответить. Пусто — обращение ваше.
new-subject = Тема
new-description = Описание
new-draft = Сохранить как черновик (отправлю позже)
new-submit = Отправить
new-cancel = Отмена

ticket-service = Услуга
ticket-client = Клиент
ticket-requester = Автор
ticket-next-step = Следующий шаг
ticket-created = Создан
ticket-draft-note = Это черновик: поддержка увидит его, когда вы его отправите.
ticket-submit-draft = Отправить в поддержку
ticket-conversation = Переписка
ticket-no-comments = Сообщений пока нет.
comments-count = { $count ->
    [one] { $count } сообщение
    [few] { $count } сообщения
   *[many] { $count } сообщений
}
comment-internal = Внутренний
comment-label = Ваше сообщение
comment-internal-check = Внутренний комментарий (клиент не увидит)
comment-submit = Отправить
ticket-files = Файлы
files-count = { $count ->
    [one] { $count } файл
    [few] { $count } файла
   *[many] { $count } файлов
}
upload-label = Файл
upload-submit = Прикрепить файл
upload-choose-file = Выберите непустой файл.
ticket-tasks = Задачи
ticket-no-tasks = Задач нет.
task-due = срок
task-line = линия { $value }
task-state-open = открыта
task-state-done = выполнена
task-state-cancelled = отменена
ticket-history = История
actor-system = система

history-draft-created = Создан черновик
history-created = Обращение зарегистрировано
history-status = Статус: { $before } → { $after }
history-comment = Новое сообщение
history-internal-comment = Внутренний комментарий
history-attachment = Прикреплён файл { $value }
history-task-created = Создана задача: { $value }
history-watcher-added = Добавлен наблюдатель
history-transferred = Передано на линию { $line }: { $reason }

field-required = Заполните это поле.
field-too-long = Слишком длинно: не больше { $value } символов.
field-client = Нет такого клиента.
field-requester = У этого клиента нет такого контакта: укажите email одного из его контактных лиц.
field-service = Нет такой услуги.
field-invalid = Неверное значение.

month-1 = января
month-2 = февраля
month-3 = марта
month-4 = апреля
month-5 = мая
month-6 = июня
month-7 = июля
month-8 = августа
month-9 = сентября
month-10 = октября
month-11 = ноября
month-12 = декабря

# Workplaces (issue 8)
nav-places = Рабочие места
nav-desk = Мой стол
nav-manager = Показатели
nav-skip = Перейти к содержимому

weekday-1 = пн
weekday-2 = вт
weekday-3 = ср
weekday-4 = чт
weekday-5 = пт
weekday-6 = сб
weekday-7 = вс
ticket-promise = Мы ответим до { $value }.

priority-critical = критический
priority-high = высокий
priority-normal = обычный
priority-low = низкий
why-overdue = Срок прошёл; приоритет { $value }.
why-due = Приоритет { $priority }, срок { $due }.
why-no-due = Приоритет { $value }, без срока.

desk-title = Мой стол
desk-queue = Очередь задач
desk-queue-hint = Берите верхнюю: очередь уже отсортирована по приоритету и сроку.
desk-queue-empty = Задач нет.
desk-take-next = Взять следующей
desk-mine = моя
desk-planning = Планирование
desk-planning-empty = Календарь задач появится здесь.
desk-my-figures = Мои показатели
desk-open-mine = Открытых задач на мне
desk-done-month = Выполнено за месяц

task-client-description = Описание клиента
task-line1-summary = Итог первой линии
task-no-summary = Первая линия не оставила итога.
task-instructions = Как выполнять
task-actions = Действия
task-take = Взять задачу
task-outcome = Исход
task-summary = Итог (перейдёт в следующую задачу)
task-complete = Завершить задачу
task-transfer-line = Передать на линию
task-transfer-reason = Причина передачи
task-transfer = Передать
task-ticket-360 = Обращение целиком
task-open-ticket = Открыть обращение: клиент, переписка, файлы, история

feed-title = Лента
feed-empty = Новостей нет.

manager-title = Показатели поддержки
manager-alerts = Происшествия
manager-no-alerts = Происшествий нет.
manager-figures = Оперативные показатели
fig-plan-today = План / факт на сегодня
fig-plan-week = План / факт на неделю
fig-overdue-development = Просрочено задач в разработке
fig-bugs = Ошибок за 14 дней
fig-in-progress = Обращений в работе
fig-overdue-tickets = Просроченных обращений
manager-new-tickets = Новые обращения по дням
manager-client-time = Время по клиентам по дням
manager-no-time = Время за эти дни не записано.
manager-workday = Рабочий день специалистов
manager-no-work = Сегодня время не записано.
manager-board = На чьей стороне мяч
board-ours = Ждут нас
board-theirs = Ждём мы
minutes = { $value } мин
alert-breached = Срок нарушен
alert-at_risk = Срок под угрозой
alert-over_hours = Перерасход времени
alert-quota_used_up = Лимит исчерпан

announce-title = Объявление клиентам
announce-subject = Заголовок
announce-body = Текст
announce-clients = Кому (коды клиентов через запятую; пусто — всем)
announce-by-mail = Отправить также по почте
announce-submit = Опубликовать

rating-title = Оцените ответ
rating-score = Оценка от 1 до 5
rating-comment = Комментарий (необязательно)
rating-submit = Оценить
rating-given = Ваша оценка: { $value } из 5.
