# Test script: one warning, one non-terminating error, then one object.
param(
    [string]$Label
)

Write-Warning -Message "warning about $Label"
Write-Error -Message "non-terminating error about $Label" -ErrorId 'AdsuiteTestError' -Category ObjectNotFound
[pscustomobject]@{ Label = $Label; Done = $true }
