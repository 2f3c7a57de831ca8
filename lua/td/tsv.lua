--- td.tsv: tab-separated files, read and written as TD writes them (no
-- quoting; backslash escapes \t \n \r \\). The same functions as td.csv
-- (rows, records, read, parse, writer, write; see td/csv.lua); pass
-- quote = '"' to read tab-separated files that quote fields instead.
return require("td.csv")._make({ delimiter = "\t", quote = false, escape = "\\", format = "tsv" }, "td.tsv")
