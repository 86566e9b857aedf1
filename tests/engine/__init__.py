"""Engine-semantics suite: what tether's graph engine must do, checked against LangGraph."""
