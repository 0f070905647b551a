#!/bin/sh
# Stand-in for Prisma's native schema engine where it cannot be downloaded (air-gapped hosts).
# `prisma generate` never runs the engine, it only needs the path to exist; any other command that does
# run it fails here with a message that says what to do instead.
echo "Prisma's schema engine is not installed on this machine; use 'npm run db:migrate' (see README, 'Migrations')." >&2
exit 1
