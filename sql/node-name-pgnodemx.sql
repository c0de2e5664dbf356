SELECT val FROM kdapi_setof_kv('labels') WHERE key = 'postgres-operator.crunchydata.com/cluster';
