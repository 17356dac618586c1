# The history of tickets imported from other systems (issue 23).
history-imported = Перенесено из { $value }
history-field = Поле изменено: { $value }
