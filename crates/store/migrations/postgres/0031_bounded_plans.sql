-- A plan lasts 1 to 1,440 minutes (the API bounds it since this version); lengths stored
-- before, such as 9223372036854775807 on SQLite, are brought into that range.
UPDATE tasks SET planned_minutes = 1440 WHERE planned_minutes > 1440;
UPDATE tasks SET planned_minutes = 1 WHERE planned_minutes < 1;
