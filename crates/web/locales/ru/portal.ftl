# Client portal and specialist desk panels (issue 8): timer, ticket 360°, knowledge base,
# quota, new-ticket form, planning.

timer-title = Таймер
timer-elapsed = Прошло времени
timer-stop = Остановить
timer-idle = Таймер не запущен.
timer-start = Запустить таймер по этой задаче
timer-switch = Переключить таймер на эту задачу

kb-panel-title = База знаний
kb-panel-search = Поиск по базе знаний
kb-panel-empty = Статей пока нет.
kb-panel-nothing = Ничего не нашлось.
kb-panel-all = Вся база знаний →

quota-title = Мой договор
quota-none = Действующего договора нет.
quota-not-in-force = не действует
quota-no-limits = Без лимитов.
quota-limit-only = не более { $value }
quota-tickets-month = Обращений в этом месяце
quota-hours-month = Часов работы в этом месяце
quota-license-keys = Лицензионных ключей
quota-tickets-contact-day = Обращений от одного человека в день

planning-desk-hint = План на неделю, загрузка по дням и личные показатели.
planning-open = Открыть планирование →
planning-title = Планирование
planning-week = Неделя { $value }
planning-week-nav = Переход по неделям
planning-previous = ← Предыдущая
planning-this-week = Эта неделя
planning-next = Следующая →
planning-hint = Задачу ставят в план на её странице: дата, время и длительность.
planning-day-empty = Ничего не запланировано.
plan-day-load = запланировано { $planned } из { $working } рабочих
plan-fig-what = Показатель
plan-fig-today = Сегодня
plan-fig-week = Неделя
plan-fig-planned = Сделано из запланированного
plan-fig-closed = Закрыто задач
plan-fig-overdue = Просрочено
plan-fig-reopened = Вернулись в работу
plan-fig-hours = Часов учтено

plan-title = В мой план
plan-date = Дата
plan-time = Начало
plan-minutes = Длительность, минут
plan-submit = Запланировать
plan-remove = Убрать из плана
plan-bad-date = Укажите дату и время начала.
plan-bad-minutes = Укажите длительность в минутах, от 1 до 1440.
plan-does-not-fit = Не помещается: в этот день не хватает рабочего времени.
plan-no-working-hours = В этот день нет рабочего времени.
plan-take-first = Сначала возьмите задачу себе.

task-access-notes = Доступ к системам клиента
t360-client = Клиент
t360-contract = Договор и лимиты
t360-no-contract = Действующего договора нет.
t360-time = Затрачено времени
t360-articles = Статьи базы знаний
t360-no-articles = Связанных статей нет.
t360-history = Последние события
t360-history-all = { $count ->
    [one] Вся история: { $count } событие
    [few] Вся история: { $count } события
   *[many] Вся история: { $count } событий
}

new-files = Файлы
new-files-drop = Перетащите файлы сюда или выберите их.
new-save-draft = Сохранить черновик
draft-autosaved = Текст сохранён на этом устройстве
draft-restored = Восстановлен неотправленный текст.
upload-limit-hint = { $count ->
    [one] До { $size } на файл, не больше { $count } файла.
   *[other] До { $size } на файл, не больше { $count } файлов.
}
upload-too-large = Файл больше { $value }: такой не отправить. Уменьшите его или разделите.
upload-too-many = { $count ->
    [one] Можно приложить не больше { $count } файла.
   *[other] Можно приложить не больше { $count } файлов.
}
upload-again = Файлы не сохранились: приложите их снова.

# A saved draft opened again (issue 8).
draft-edit = Изменить черновик
draft-edit-title = Черновик
draft-edit-hint = Поддержка увидит обращение, когда вы его отправите; до тех пор его можно менять.
history-draft-edited = Черновик изменён
