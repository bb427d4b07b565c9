-- bench/floor/http_post.lua: the HTTP floor of the dispatch ratio in
-- bench/run, for wrk: POST /owo/v1/fund-requests with the headers and the
-- kind of body a mono_pay worker sends (src/http.c, mono_charge_body in
-- src/owo.c), a new reference and phone each time, to the same nginx stub
-- that answers Mono's 202 body. Keep-alive connections, as libcurl's.
local threads = 0
function setup(thread)
	threads = threads + 1
	thread:set("tid", threads)
end
function init(args)
	n = 0
end
function request()
	n = n + 1
	local i = tid * 100000000 + n
	local body = string.format('{"phone":"23481%08d","reference":"mpbench%014d","type":"onetime","description":"bench order %d","amount":%d,"currency":"NGN"}', i % 100000000, i, n, 100000 + n)
	return wrk.format("POST", "/owo/v1/fund-requests", {
		["Accept"] = "application/json",
		["Content-Type"] = "application/json",
		["mono-sec-key"] = "test_sk_bench"
	}, body)
end
