"""Backtests: replay historical data through indicator definitions and report what they would
have raised (`citysigns backtest PATHS... --data PATH`)."""
