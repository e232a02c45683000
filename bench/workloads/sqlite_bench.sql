-- lurk benchmark: sqlite3 scripted workload (run on an in-memory database).
-- Bulk inserts via recursive CTEs, an index, joins, aggregates, an update
-- and a window function.  Fully deterministic (no random()).
PRAGMA cache_size = -65536;

CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, region INTEGER, score INTEGER);
CREATE TABLE orders(id INTEGER PRIMARY KEY, customer INTEGER, item INTEGER, qty INTEGER, price INTEGER, day INTEGER);
CREATE TABLE items(id INTEGER PRIMARY KEY, label TEXT, category INTEGER);

WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000)
INSERT INTO customers SELECT x, 'cust' || printf('%06d', (x * 7919) % 20000), x % 37, (x * 31337) % 1000 FROM c;

WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000)
INSERT INTO items SELECT x, 'item-' || hex(x * 2654435761 % 65536), x % 23 FROM c;

WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000)
INSERT INTO orders SELECT x,
    1 + (x * 48271) % 20000,
    1 + (x * 16807) % 2000,
    1 + x % 9,
    100 + (x * 69621) % 9900,
    (x * 40692) % 365
  FROM c;

CREATE INDEX orders_customer ON orders(customer);
CREATE INDEX orders_item_day ON orders(item, day);
CREATE INDEX customers_region ON customers(region, score);

SELECT 'count', count(*), sum(qty), sum(qty * price) FROM orders;

SELECT 'region', c.region, count(*), sum(o.qty * o.price), max(o.price)
  FROM orders o JOIN customers c ON c.id = o.customer
  GROUP BY c.region ORDER BY 4 DESC LIMIT 5;

SELECT 'category', i.category, count(DISTINCT o.customer), avg(o.qty)
  FROM orders o JOIN items i ON i.id = o.item
  WHERE o.day BETWEEN 100 AND 200
  GROUP BY i.category ORDER BY i.category LIMIT 8;

SELECT 'topcust', c.name, t.total
  FROM (SELECT customer, sum(qty * price) AS total FROM orders GROUP BY customer) t
  JOIN customers c ON c.id = t.customer
  ORDER BY t.total DESC, c.name LIMIT 5;

UPDATE customers SET score = score + 1
  WHERE id IN (SELECT customer FROM orders WHERE price > 9000 GROUP BY customer HAVING count(*) > 3);
SELECT 'score', sum(score), count(*) FROM customers WHERE score > 500;

SELECT 'rank', item, day, rnk FROM (
  SELECT item, day, rank() OVER (PARTITION BY item ORDER BY qty * price DESC, id) AS rnk
  FROM orders WHERE item <= 50)
  WHERE rnk = 1 ORDER BY item LIMIT 5;

SELECT 'like', count(*) FROM customers c JOIN orders o ON o.customer = c.id
  WHERE c.name LIKE 'cust00%7' AND o.qty > 4;

SELECT 'selfjoin', count(*) FROM orders a JOIN orders b ON a.item = b.item AND a.day = b.day AND a.id < b.id;
