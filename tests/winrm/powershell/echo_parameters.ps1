# Test script: returns its parameters as one object, to prove values arrive as data.
param(
    [string]$Text,
    [string[]]$Items = @(),
    [int]$Number = 0
)

[pscustomobject]@{
    Text   = $Text
    Items  = @($Items)
    Number = $Number
}
