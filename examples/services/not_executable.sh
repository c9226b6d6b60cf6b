#!/bin/sh
# Deliberately NOT executable (no x bit): starting it fails with PermissionError.
echo "hook ran"
