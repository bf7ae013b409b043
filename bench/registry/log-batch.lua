-- wrk script: each request logs a batch of 10 metric values (keys m1..m10) and 1 tag into one run. Every request of
-- every wrk thread is distinct: each thread has its own Lua state and counter, so the step, timestamp and value are
-- made from (thread id, counter) and no two requests carry the same (key, timestamp, step, value), which the
-- registry would keep once (a duplicate metric value is not a new one). wrk.sh compares the values stored with the
-- 2xx answers.
local threads = {}
local next_id = 0
function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local counter = 0
local run_id = os.getenv("RUN_ID")
local token = os.getenv("TOKEN")
request = function()
  counter = counter + 1
  local step = thread_id * 1000000000 + counter
  local metrics = {}
  for i = 1, 10 do
    metrics[i] = string.format('{"key": "m%d", "value": %d.5, "timestamp": %d, "step": %d}', i, step, 1764151200000 + step, step)
  end
  local body = string.format('{"run_id": "%s", "metrics": [%s], "tags": [{"key": "last", "value": "%d"}]}', run_id, table.concat(metrics, ","), step)
  return wrk.format("POST", "/api/2.0/mlflow/runs/log-batch", { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }, body)
end
