#!/bin/sh
echo stand-in installer
