--- td.notify(url, message_or_table, {client =, headers =}) -> the reply body.
-- Posts JSON to a webhook so a runbook can alert: a string becomes a
-- Slack-compatible payload `{"text": message}`; a table is sent as it is
-- (blocks, attachments, a custom JSON body). It goes through the same
-- request kernel as every TD call (td.http): timeouts, retries with
-- backoff on network errors, 429 and 5xx, Retry-After, --verbose traces,
-- --dry-run (printed, not sent), and redaction - the webhook URL's path
-- and query are treated as a secret (they are, for Slack), so traces and
-- errors show them masked. A retried post may rarely arrive twice; an
-- alert that arrives twice beats one that is lost. Raises the request's
-- error when the hook keeps failing.
local errors = require "td.errors"
local http = require "td.http"
local redact = require "td.redact"

local OPTS = { client = true, headers = true }

local function notify(url, msg, opts)
  errors.check("td.notify", "url", url, "string")
  if type(msg) ~= "string" and type(msg) ~= "table" then
    errors.check("td.notify", "message", msg, "string", "table")
  end
  opts = errors.opts("td.notify", opts, OPTS)
  local scheme, host, rest = url:match("^(https?)://([^/?#]+)(.*)$")
  if not scheme then
    errors.raise { kind = "usage", message = ("bad argument 'url' to 'td.notify' (an http:// or https:// URL expected, got %q)"):format(redact.text(url)) }
  end
  if #rest >= 6 then redact.add(rest) end
  if scheme == "http" and not (host:match("^127%.") or host:match("^localhost") or host:match("^%[::1%]")) then
    errors.raise { kind = "usage", message = "td.notify: plain http:// is only for a local hook; use https://" }
  end
  local client = opts.client or require("td").default_client()
  local body = type(msg) == "string" and { text = redact.text(msg) } or msg
  local data = http.request(client, {
    method = "POST", url = url, json = body, auth = false, raw = true,
    idempotent = true, headers = opts.headers, accept = "*/*",
  })
  return data
end

return notify
