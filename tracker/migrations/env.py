"""Alembic environment: the schema is tracker.store.models; the URL is DATABASE_URL unless a caller passes one."""

from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context
from sqlmodel import SQLModel

import tracker.store.models
from tracker.core.config import get_settings
from tracker.store.search import include_object

config = context.config
if config.config_file_name is not None and not config.attributes.get("connection"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    return url if url and not url.startswith("driver://") else get_settings().database_url


def _render_item(type_: str, obj, autogen_context):
    """Render our UTC type by its module path; everything else the default way."""
    if type_ == "type" and isinstance(obj, tracker.store.models.UTCDateTime):
        autogen_context.imports.add("import tracker.store.models")
        return "tracker.store.models.UTCDateTime()"
    return False


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
        include_object=include_object,  # the hand-written full-text search objects of 0002
    )


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_item=_render_item, include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = sa.create_engine(_url(), poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
