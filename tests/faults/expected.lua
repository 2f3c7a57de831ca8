-- Rows of the fault matrix that fail today, each with the reason. The suite
-- (tests/test_fault_matrix.lua) skips them; `make faults` runs them and says
-- which now pass. Remove a row here with the fix that makes it pass.
return {
  ["write client:create_database x 503 after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:create_database x reset after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:create_database x invalid JSON after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:create_database x timeout after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:delete_database x 503 after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:delete_database x reset after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:delete_database x invalid JSON after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:delete_database x timeout after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:create_table x 503 after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:create_table x reset after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:create_table x invalid JSON after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:create_table x timeout after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:delete_table x 503 after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:delete_table x reset after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:delete_table x invalid JSON after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:delete_table x timeout after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:swap_table x 503 after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:swap_table x reset after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:swap_table x invalid JSON after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:swap_table x timeout after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:rename_table x 503 after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:rename_table x reset after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:rename_table x invalid JSON after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:rename_table x timeout after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:update_table x 503 after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:update_table x reset after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:update_table x invalid JSON after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:update_table x timeout after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:append_schema x 503 after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:append_schema x reset after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:append_schema x invalid JSON after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:append_schema x timeout after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:create_schedule x 503 after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:create_schedule x reset after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:create_schedule x invalid JSON after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:create_schedule x timeout after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:delete_schedule x 503 after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:delete_schedule x reset after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:delete_schedule x invalid JSON after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:delete_schedule x timeout after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:create_result x 503 after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:create_result x reset after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:create_result x invalid JSON after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:create_result x timeout after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:delete_result x 503 after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:delete_result x reset after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:delete_result x invalid JSON after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:delete_result x timeout after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:add_user x 503 after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:add_user x reset after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:add_user x invalid JSON after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:add_user x timeout after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:add_api_key x 503 after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:add_api_key x reset after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:add_api_key x invalid JSON after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:add_api_key x timeout after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:create_policy x 503 after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:create_policy x reset after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:create_policy x invalid JSON after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write client:create_policy x timeout after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write wf:create_pool x 503 after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write wf:create_pool x reset after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write wf:create_pool x invalid JSON after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
  ["write wf:create_pool x timeout after act"] =
    "a lost reply is not resolved: the call raises although the server acted",
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
