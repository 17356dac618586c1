# База знаний (issue 9)
kb-title = База знаний
kb-search = Найти
kb-search-placeholder = Например: ошибка закрытия месяца
kb-nothing-found = Ничего не нашлось. Попробуйте другие слова или создайте обращение.
kb-empty = Статей пока нет.
kb-draft = черновик
kb-tags = Метки
kb-version = версия { $value }
kb-deflections = Решила вопрос до обращения: { $value }
kb-audience-public = Для всех
kb-audience-client = Для клиентов
kb-audience-staff = Для сотрудников
kb-audience-both = Для клиентов и сотрудников
