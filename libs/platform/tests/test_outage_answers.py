"""A request that meets a database outage answers 503 with Retry-After (the client may try again,
nothing was done), never a 500 as for a bug, and the error is not raised again after the answer."""

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from hotelmate_devtools.system import free_port
from hotelmate_platform.db import Database
from hotelmate_platform.problems import install_problem_handlers


def app_on(database_url: str) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/bookings")
    async def book():
        db = Database(database_url, pool_size=1, max_overflow=0)
        try:
            async with db.sessions() as session:
                await session.execute(text("SELECT 1"))
        finally:
            await db.dispose()

    @app.post("/bug")
    async def bug():
        raise ValueError("a bug, not an outage")

    return app


async def test_a_database_outage_answers_503_with_retry_after():
    app = app_on(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone")  # nobody listens there
    # raise_app_exceptions: an error raised again after the answer (Starlette's catch-all handler
    # does) fails the request here, as it makes uvicorn close the connection under the gateway.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service") as client:
        answer = await client.post("/bookings")
        assert answer.status_code == 503, answer.text
        assert int(answer.headers["Retry-After"]) > 0
        assert answer.json()["type"].endswith("/service-unavailable")


async def test_a_bug_still_answers_500():
    transport = httpx.ASGITransport(app=app_on("postgresql+psycopg://unused/x"), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        assert (await client.post("/bug")).status_code == 500
