"""The API as `bench/widget.py` runs it: the real app with the trickling fake LLM.

cd backend && PYTHONPATH=../bench/widget_app uvicorn widget_server:app
"""

from __future__ import annotations

from trickle import TricklingLLM

from app.main import create_app

app = create_app()
app.state.runtime.agent.llm = TricklingLLM()
