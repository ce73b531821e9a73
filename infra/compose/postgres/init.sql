-- The postgres profile: one database per service (each owns its tables and its migrations),
-- all owned by the user POSTGRES_USER. The image runs this once, on its first start with an
-- empty volume; POSTGRES_DB (chat) exists already.
CREATE DATABASE presence OWNER tertulia;
CREATE DATABASE notifications OWNER tertulia;
CREATE DATABASE dashboard OWNER tertulia;
