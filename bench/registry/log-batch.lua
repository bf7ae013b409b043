-- wrk script: each request logs a batch of 10 metric values, 1 param-free tag, with increasing steps.
local counter = 0
local run_id = os.getenv("RUN_ID")
local token = os.getenv("TOKEN")
request = function()
  counter = counter + 1
  local metrics = {}
  for i = 1, 10 do
    metrics[i] = string.format('{"key": "m%d", "value": %d.5, "timestamp": %d, "step": %d}', i, counter, 1764151200000 + counter, counter)
  end
  local body = string.format('{"run_id": "%s", "metrics": [%s], "tags": [{"key": "last", "value": "%d"}]}', run_id, table.concat(metrics, ","), counter)
  return wrk.format("POST", "/api/2.0/mlflow/runs/log-batch", { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }, body)
end
