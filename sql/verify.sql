-- The seed's verification query: rows per owning member, as every member sees them.
SELECT node_name, count(*)
FROM :"schema".:"table"
GROUP BY node_name
ORDER BY node_name;
