"""The write-up's RPC (gevent + msgpack over TCP) with service governance in etcd: a service
registers itself under its prefix with a lease; callers discover, balance, rate-limit and fail
over in the client, by the policy rpc.json gives each callee."""
