--- td.workflow: the Treasure Workflow API module. The client object
-- (`client.workflow`) and its methods live in td/workflow/client.lua; this
-- name is kept for `require "td.workflow"`.
return require "td.workflow.client"
