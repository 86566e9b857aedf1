"""Seed: "langgraph-persistence" — chat memory with MessagesState, threads, history, replay.

Run: python examples/chat_memory.py
"""

from typing import Any

from tether.checkpoint.memory import MemorySaver
from tether.graph import END, START, MessagesState, StateGraph


def content(message: Any) -> str:
    return message["content"] if isinstance(message, dict) else message.content


def chatbot(state: MessagesState) -> dict[str, Any]:
    """A stand-in for an LLM: it remembers a name told earlier in the thread."""
    said = [content(m) for m in state["messages"]]
    names = [s.removeprefix("My name is ") for s in said if s.startswith("My name is ")]
    if said[-1] == "What's my name?":
        reply = f"Your name is {names[-1]}" if names else "I don't know your name yet"
    else:
        reply = f"Noted: {said[-1]}"
    return {"messages": [("assistant", reply)]}


def build() -> Any:
    builder = StateGraph(MessagesState)
    builder.add_node("chatbot", chatbot)
    builder.add_edge(START, "chatbot")
    builder.add_edge("chatbot", END)
    return builder.compile(checkpointer=MemorySaver())


def last_reply(result: dict[str, Any]) -> str:
    return content(result["messages"][-1])


def main() -> None:
    graph = build()
    thread1 = {"configurable": {"thread_id": "conversation-1"}}
    thread2 = {"configurable": {"thread_id": "conversation-2"}}

    graph.invoke({"messages": [("user", "My name is Alice")]}, config=thread1)
    answer1 = last_reply(graph.invoke({"messages": [("user", "What's my name?")]}, config=thread1))
    answer2 = last_reply(graph.invoke({"messages": [("user", "What's my name?")]}, config=thread2))
    print(f"thread 1: {answer1}")
    print(f"thread 2: {answer2}")

    state = graph.get_state(thread1)
    print(f"thread 1 has {len(state.values['messages'])} messages; next: {state.next}")

    history = list(graph.get_state_history(thread1))
    print(f"thread 1 has {len(history)} checkpoints")
    for snapshot in history[:3]:
        print(
            f"  {snapshot.config['configurable']['checkpoint_id']}: {len(snapshot.values['messages'])} messages"
        )

    # Resume from a specific checkpoint: the one where the second user message was waiting.
    waiting = next(s for s in history if s.next == ("chatbot",))
    replayed = graph.invoke(None, config=waiting.config)
    print(f"replayed from checkpoint: {last_reply(replayed)}")

    # Update state before resuming: add a message as if the user had sent it, then continue.
    graph.update_state(thread1, {"messages": [("user", "My name is Alicia")]})
    graph.invoke({"messages": [("user", "What's my name?")]}, config=thread1)
    final = last_reply(graph.get_state(thread1).values)
    print(f"after the update: {final}")

    assert answer1 == "Your name is Alice"
    assert answer2 == "I don't know your name yet"
    assert final == "Your name is Alicia"
    print("OK: each thread remembers its own conversation")


if __name__ == "__main__":
    main()
