-- wrk script for the "paced" cells: every connection waits 10 ms between requests, so 16
-- connections ask for ~1,600 scrapes/s (far more than any Prometheus) without saturating
-- the 2 cores the servers share with wrk; the latency is then the server's, not the
-- run queue's.
function delay()
  return 10
end
