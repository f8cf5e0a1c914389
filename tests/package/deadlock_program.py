"""A tiny program instrumented with the installed coroner_asyncio: a lock-order deadlock.

usage: python deadlock_program.py LOG. Prints where coroner_asyncio was imported from; the log
shows two tasks each holding the lock the other waits for, until main returns 0.3 s later.
"""

import asyncio
import sys

import coroner_asyncio


async def transfer(first, second):
    async with first:
        await asyncio.sleep(0.01)
        async with second:
            pass


async def main():
    coroner_asyncio.install(stream=open(sys.argv[1], "w"))
    a, b = asyncio.Lock(), asyncio.Lock()
    asyncio.create_task(transfer(a, b), name="a-then-b")
    asyncio.create_task(transfer(b, a), name="b-then-a")
    await asyncio.sleep(0.3)


print(coroner_asyncio.__file__)
asyncio.run(main())
