# Test script: sleeps, then answers 'woke'.
param(
    [int]$Seconds
)

Start-Sleep -Seconds $Seconds
'woke'
