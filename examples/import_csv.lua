-- examples/import_csv.lua: import a CSV (or TSV, or JSON Lines) file into a
-- table, creating the table when it does not exist.
--
--   tdlua examples/import_csv.lua users.csv web.users [TIME_COLUMN]
--
-- The file is streamed (any size, flat memory) and uploaded in chunks that
-- TD stores once each, so a retried upload never duplicates rows. Column
-- types are inferred from the first 1000 lines (long, double or string);
-- each record's time comes from TIME_COLUMN (or a column named time). Lines
-- that cannot be read are skipped and reported with their line numbers.
local path, target, time_column = arg[1], arg[2], arg[3]
local db, tbl = (target or ""):match("^([%w_]+)%.([%w_]+)$")
if not (path and db) then
  io.stderr:write("usage: tdlua import_csv.lua FILE DATABASE.TABLE [TIME_COLUMN]\n")
  os.exit(2)
end
local c = td.client()
if not td.try(c.table, c, db, tbl) then
  c:create_table(db, tbl)
  td.log.info("created table %s.%s", db, tbl)
end
local sum = c:import_file(db, tbl, path, { time_column = time_column, on_error = "skip" })
td.log.info("imported %d records from %s into %s.%s in %d chunk%s (%d bad line%s skipped)",
  sum.records, path, db, tbl, sum.chunks, sum.chunks == 1 and "" or "s",
  sum.skipped, sum.skipped == 1 and "" or "s")
for _, bad in ipairs(sum.bad) do td.log.warn("%s line %d: %s", path, bad.line, bad.reason) end
