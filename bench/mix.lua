-- wrk script for bench/soak.sh: a fixed mix of authenticated and public requests that
-- must all answer 2xx (wrk reports anything else as "Non-2xx or 3xx responses").
--   SOAK_COOKIE    the session cookie (NAME=VALUE) of a signed-in user
--   SOAK_BEARER    a Cognito access token accepted as Authorization: Bearer
--   SOAK_HOST      the Host header (the sidecar's public_url authority)
--   SOAK_DELAY_MS  pause per connection between requests (keeps the load modest)

local cookie = os.getenv("SOAK_COOKIE")
local bearer = os.getenv("SOAK_BEARER")
local host = os.getenv("SOAK_HOST")
local delay_ms = tonumber(os.getenv("SOAK_DELAY_MS") or "10")
local n = 0

request = function()
  n = n + 1
  local kind = n % 8
  local headers = { ["Host"] = host, ["Accept"] = "application/json" }
  local path
  if kind <= 2 then
    -- a browser session on a protected page
    path = "/app/page/" .. (n % 500) .. "?q=" .. n
    headers["Cookie"] = cookie
  elseif kind <= 5 then
    -- an API client with a bearer token (verified once, then from the cache)
    path = "/api/items/" .. (n % 500)
    headers["Authorization"] = "Bearer " .. bearer
  elseif kind == 6 then
    -- a public asset, no identity
    path = "/public/asset-" .. (n % 50) .. ".css"
  else
    -- the SPA's identity endpoint and forward-auth with the session
    if n % 2 == 0 then
      path = "/oauth2/userinfo"
    else
      path = "/oauth2/auth"
      headers["X-Forwarded-Uri"] = "/app/x"
    end
    headers["Cookie"] = cookie
  end
  return wrk.format("GET", path, headers)
end

delay = function()
  return delay_ms
end
