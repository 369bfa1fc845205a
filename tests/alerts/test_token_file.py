"""The ticket API's tokens file, as an operator writes it: every mistake as file:line:col with
what to write, never a token's value in the message, and a token given to two entries (plain
or as its digest) refused, naming both lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from alerts.auth import TokenRegistry, TokenSpec, sha256
from citysigns.cli import app

SECRET = "my-real-secret-token-0002"
OTHER = "another-real-secret-0003"
CLI = CliRunner()


def write(tmp_path: Path, text: str, name: str = "tokens.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def refusal(path: Path) -> list[str]:
    with pytest.raises(ValueError) as caught:  # (a TokenFileError)
        TokenRegistry.from_file(path)
    message = str(caught.value)
    for leak in (SECRET, OTHER, "abcdefgh", "input_value", "pydantic"):
        assert leak not in message, message
    return message.splitlines()


def test_values_of_the_wrong_type_or_form_are_placed_and_never_shown(tmp_path: Path) -> None:
    path = write(tmp_path, f"""tokens:
  - name: city dispatcher
    role: dispatcher
    token: [{SECRET}]
  - name: wall
    role: read-only
    scope: 310106
    token: abcdefgh
  - {{name: desk, role: desk, token: {OTHER}, tokn: {OTHER}}}
""")  # fmt: skip
    assert refusal(path) == [
        f"{path}:4:12: tokens.0.token: Input should be a valid string; write one string of at "
        'least 16 characters, without brackets (a long random one: python -c "import secrets; '
        'print(secrets.token_urlsafe(24))")',
        f'{path}:7:12: tokens.1.scope: Input should be a valid string; write "*" for the whole '
        'city or an area code of 6-15 digits in quotes, such as "310106"',
        f"{path}:8:12: tokens.1.token: String should have at least 16 characters; write one "
        "string of at least 16 characters, without brackets (a long random one: python -c "
        '"import secrets; print(secrets.token_urlsafe(24))")',
        f"{path}:9:24: tokens.2.role: Input should be 'dispatcher', 'department', 'supervisor' "
        "or 'read-only'",
        f'{path}:9:63: tokens.2.tokn: unknown key "tokn" (did you mean "token"?); the keys here '
        "are: name, role, scope, department, token_sha256, token, expires",
    ]


def test_a_syntax_error_that_quotes_its_line_hides_the_token(tmp_path: Path) -> None:
    path = write(tmp_path, f"tokens:\n  - name: x\n    role: read-only\n    token:{SECRET}\n")
    assert refusal(path) == [
        f"{path}:4:5: YAML syntax: put a space after ':' in 'token:(the token)' (write token: "
        "(the token)); without it, line 4 reads as a key that never gets its ': '"
    ]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (f"token: {SECRET}", f"token: '{SECRET}'"),
        (f"token: {SECRET}", f"token_sha256: {sha256(SECRET)}"),
        (f"token_sha256: {sha256(SECRET).upper()}", f"token_sha256: {sha256(SECRET)}"),
    ],
)
def test_a_token_given_to_two_entries_is_refused_naming_both(
    tmp_path: Path, first: str, second: str
) -> None:
    """It used to start, the last entry deciding a request's role and scope: a read-only
    wall display's token would have made the dispatcher's requests read-only, or the wall a
    dispatcher."""
    path = write(tmp_path, f"""tokens:
  - name: city dispatcher
    role: dispatcher
    scope: "*"
    {first}
  - name: Jing'an wall
    role: read-only
    scope: "310106"
    {second}
""")  # fmt: skip
    key = second.split(":")[0]
    assert refusal(path) == [
        f'{path}:9:{len(key) + 7}: tokens.1.{key}: the same token as tokens.0 "city dispatcher" '
        f'on line 5; this entry "Jing\'an wall" is on line 9, and which role and scope a '
        "request got would depend on the order: give each entry its own token, or delete one "
        "of them"
    ]


def test_a_registry_built_in_code_refuses_a_repeated_token_too() -> None:
    specs = [TokenSpec(name=n, role="read-only", token=SECRET) for n in ("a", "b")]
    with pytest.raises(ValueError, match="tokens 'a' and 'b' are the same token"):
        TokenRegistry(specs)


def test_an_empty_list_and_a_missing_one_are_refused(tmp_path: Path) -> None:
    empty = write(tmp_path, "tokens: []\n")
    assert refusal(empty) == [
        f"{empty}:1:1: tokens: no tokens, so every request would be refused; list at least one "
        "(see alerts/examples/tokens.yaml)"
    ]
    blank = write(tmp_path, "# nothing yet\n", "blank.yaml")
    assert refusal(blank) == [
        f"{blank}:1:1: tokens: missing; write `tokens:` and a list of entries (see "
        "alerts/examples/tokens.yaml)"
    ]


def test_a_windows_editors_file_and_a_digest_in_capitals_are_read(tmp_path: Path) -> None:
    """A byte-order mark and CRLF line ends (Notepad), a digest as PowerShell prints it."""
    text = (f"tokens:\r\n  - name: wall\r\n    role: read-only\r\n"
            f"    token_sha256: {sha256(SECRET).upper()}\r\n")  # fmt: skip
    path = tmp_path / "tokens.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    who = TokenRegistry.from_file(path).authenticate(f"Bearer {SECRET}")
    assert who is not None and who.name == "wall"


def test_serve_refuses_the_file_with_its_lines_and_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, f"""tokens:
  - {{name: a, role: dispatcher, token: {SECRET}}}
  - {{name: b, role: read-only, scope: "310106", token: {SECRET}}}
""")  # fmt: skip
    import uvicorn

    def started(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the API started with this tokens file")

    monkeypatch.setattr(uvicorn, "run", started)
    db = f"sqlite:///{tmp_path}/tickets.db"
    done = CLI.invoke(app, ["serve", "--tokens", str(path), "--db", db, "--port", "1"])
    assert done.exit_code == 1, done.output
    assert isinstance(done.exception, SystemExit), done.exception
    assert "Traceback" not in done.output and SECRET not in done.output
    assert done.output.startswith(
        f'cannot start: {path}:3:56: tokens.1.token: the same token as tokens.0 "a" on line 2'
    ), done.output


def test_the_example_file_loads() -> None:
    example = Path(__file__).resolve().parents[2] / "alerts" / "examples" / "tokens.yaml"
    who = TokenRegistry.from_file(example).authenticate("Bearer wall-display-local-trial-only")
    assert who is not None and (who.name, who.role) == ("wall display", "read-only")


def test_a_token_with_spaces_around_it_is_refused(tmp_path: Path) -> None:
    """A client sends `Bearer <token>` without the spaces: such an entry could never match."""
    path = write(
        tmp_path, f'tokens:\n  - name: desk\n    role: dispatcher\n    token: "{SECRET} "\n'
    )
    assert refusal(path) == [
        f"{path}:4:12: tokens.0.token: the token starts or ends with a space, so no request can "
        "match it; remove the spaces"
    ]
