-- Rows of the fault matrix that fail today, each with the reason. The suite
-- (tests/test_fault_matrix.lua) skips them; `make faults` runs them and says
-- which now pass. Remove a row here with the fix that makes it pass.
return {
  ["read client:table x array body"] =
    "a wrong-shaped answer is taken for a right one (no shape check)",
  ["read client:table x empty object"] =
    "a wrong-shaped answer is taken for a right one (no shape check)",
  ["read client:table x wrong field types"] =
    "a wrong-shaped answer is taken for a right one (no shape check)",
  ["read client:account x array body"] =
    "a wrong-shaped answer is taken for a right one (no shape check)",
  ["read client:account x empty object"] =
    "a wrong-shaped answer is taken for a right one (no shape check)",
  ["read client:account x missing fields"] =
    "a wrong-shaped answer is taken for a right one (no shape check)",
  ["read client:account x wrong field types"] =
    "a wrong-shaped answer is taken for a right one (no shape check)",
  ["read client:job x array body"] =
    "a wrong-shaped answer is taken for a right one (no shape check)",
  ["read client:job x empty object"] =
    "a wrong-shaped answer is taken for a right one (no shape check)",
  ["read client:job x missing fields"] =
    "a wrong-shaped answer is taken for a right one (no shape check)",
  ["read client:job x wrong field types"] =
    "a wrong-shaped answer is taken for a right one (no shape check)",
  ["read client:job_status x array body"] =
    "a wrong-shaped answer is taken for a right one (no shape check)",
  ["read client:job_status x empty object"] =
    "a wrong-shaped answer is taken for a right one (no shape check)",
  ["read client:job_status x wrong field types"] =
    "a wrong-shaped answer is taken for a right one (no shape check)",
  ["read client:jobs x array body"] =
    "a wrong-shaped answer is taken for a right one (no shape check)",
  ["read client:jobs x empty object"] =
    "a wrong-shaped answer is taken for a right one (no shape check)",
  ["read client:jobs x wrong field types"] =
    "a wrong-shaped answer is taken for a right one (no shape check)",
}
