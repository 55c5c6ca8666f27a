-- activemirror-jupyter: roles and grants for a team's shared PostgreSQL database.
--
-- Row-level security itself comes with the tables: the store's migrations enable and force
-- it on `sessions`, `messages`, `attachments`, `redactions` and `activemirror_versions`, with policies that let each database role see and change
-- only the rows it owns (`owner = current_user`). The tables' owner is the administrator and
-- sees everything: keep that role out of notebooks. This file gives the team's roles access.
--
-- 1. As a superuser, make an owner role and the database:
--      CREATE ROLE activemirror_admin LOGIN PASSWORD '…';
--      CREATE DATABASE activemirror OWNER activemirror_admin;
-- 2. Create the tables by opening the store once as that owner:
--      python -c "from activemirror_jupyter import ActiveMirror; \
--        ActiveMirror('postgresql', dsn='postgresql://activemirror_admin@HOST/activemirror').close()"
-- 3. Run this file in that database as a superuser (or a role with CREATEROLE that owns it):
--      psql "postgresql://postgres@HOST/activemirror" -f postgresql_setup.sql
-- 4. One login role per person, in the group this file creates:
--      CREATE ROLE alice LOGIN PASSWORD '…' IN ROLE activemirror_users;
--    and each person uses dsn="postgresql://alice@HOST/activemirror" (password in ~/.pgpass
--    or PGPASSWORD, never in a notebook).
--
-- Running it again is harmless. Later versions of activemirror-jupyter may add migrations:
-- the owner opens the store once after upgrading (members are told so if they open it first).

DO $setup$
DECLARE
    schema_name text := current_schema();
BEGIN
    IF to_regclass('activemirror_migrations') IS NULL
       OR to_regclass('sessions') IS NULL OR to_regclass('messages') IS NULL THEN
        RAISE EXCEPTION 'the activemirror tables are not in schema % of database %',
            schema_name, current_database()
            USING HINT = 'open the store once as the database owner first (step 2 above)';
    END IF;

    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'activemirror_users') THEN
        CREATE ROLE activemirror_users NOLOGIN;
    END IF;

    -- Only the team connects; nobody else gets at the tables.
    EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO activemirror_users', current_database());
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO activemirror_users', schema_name);

    REVOKE ALL ON sessions, messages, attachments, redactions, activemirror_versions,
        activemirror_migrations, message_vectors FROM PUBLIC;
    -- Rows are filtered by the policies: a member only ever reads and writes its own.
    GRANT SELECT, INSERT, UPDATE, DELETE ON sessions, messages, attachments, redactions,
        activemirror_versions, message_vectors TO activemirror_users;
    -- Members check that the schema is up to date; only the owner changes it.
    GRANT SELECT ON activemirror_migrations TO activemirror_users;
    -- Search runs as the owner but returns only the caller's own rows.
    REVOKE ALL ON FUNCTION activemirror_find(text, tsquery, text, text, text, timestamptz,
        timestamptz, integer, integer) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION activemirror_find(text, tsquery, text, text, text, timestamptz,
        timestamptz, integer, integer) TO activemirror_users;
    REVOKE ALL ON FUNCTION activemirror_count(text, tsquery, text, text, text, timestamptz,
        timestamptz) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION activemirror_count(text, tsquery, text, text, text, timestamptz,
        timestamptz) TO activemirror_users;
END
$setup$;
