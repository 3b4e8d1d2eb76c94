-- The demo table /queryCache.php?id=N reads through the query cache.
-- Loaded by `deploy/lemmp up` and by the tests; safe to load again: the
-- seed rows are put back as they are here.
CREATE DATABASE IF NOT EXISTS cppfpm_demo CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS cppfpm_demo.items (
  id    INT UNSIGNED  NOT NULL PRIMARY KEY,
  name  VARCHAR(100)  NOT NULL,
  price DECIMAL(10,2) NOT NULL,
  stock INT           NOT NULL DEFAULT 0
) ENGINE=InnoDB;

INSERT INTO cppfpm_demo.items (id, name, price, stock) VALUES
  (1, 'nginx t-shirt', 19.90, 120),
  (2, 'memcached mug', 9.50, 300),
  (3, 'MariaDB hoodie', 42.00, 35),
  (4, 'FastCGI sticker pack', 3.25, 1000),
  (5, 'LEMMP poster <A2> & frame', 27.80, 12),
  (6, '缓存 notebook', 6.40, 75),
  (7, 'php-fpm retirement card', 1.00, 0),
  (8, 'cppfpm coffee beans', 14.99, 60),
  (9, 'rack of loopback cables', 88.00, 4),
  (10, 'stampede-proof umbrella', 23.45, 18)
ON DUPLICATE KEY UPDATE name = VALUES(name), price = VALUES(price), stock = VALUES(stock);
